-- sessiongate-cookies.lua -- lighttpd mod_magnet, physical-path hook
-- (magnet.attract-physical-path-to; Debian package lighttpd-modules-lua)
-- in the protected location: the protected application never sees
-- sessiongate's cookies.
--
-- lighttpd runs the FastCGI authorizer, then restarts the request's
-- processing to find the real handler, so this hook runs twice: before the
-- authorizer (which must still get the access cookie: nothing is changed
-- then) and after its 200, which put USER_ID in the request's environment
-- (from sessiongate's Variable-USER_ID; clients cannot set it, their
-- headers arrive as HTTP_*). The second time, every cookie named
-- sg_access or sg_refresh, with or without a __Host- or __Secure- prefix,
-- is removed from the Cookie header; the others stay as sent, in order. A
-- header left empty is removed.

local STRIP_AUTHORIZATION = false  -- operator's choice: true also keeps
                                   -- the bearer token from the application

local r = lighty.r
if not r.req_env["USER_ID"] then return 0 end

local function sessiongate_cookie(name)
    name = name:gsub("^__Host%-", ""):gsub("^__Secure%-", "")
    return name == "sg_access" or name == "sg_refresh"
end

local cookie = r.req_header["Cookie"]
if cookie then
    local kept, changed = {}, false
    -- split at ";", keeping each cookie's text (and its spacing) as sent
    for part in (cookie .. ";"):gmatch("([^;]*);") do
        local name = part:match("^%s*([^=%s]*)")
        if name and sessiongate_cookie(name) then
            changed = true
        else
            kept[#kept + 1] = part
        end
    end
    if changed then
        local value = table.concat(kept, ";"):gsub("^%s+", "")
        if value:find("%S") then
            r.req_header["Cookie"] = value
        else
            r.req_header["Cookie"] = nil
        end
    end
end
if STRIP_AUTHORIZATION then r.req_header["Authorization"] = nil end
return 0
