-- sessiongate-errors.lua -- lighttpd mod_magnet, response-start hook
-- (magnet.attract-response-start-to, lighttpd 1.4.56+; Debian package
-- lighttpd-modules-lua): every answer under the API mount is the API's
-- JSON envelope, lighttpd's own refusals included.
--
-- lighttpd writes some answers itself, as HTML: a POST without
-- Content-Length (411, hard-coded in its request parser), a malformed
-- request or "%00" in the path (400), request headers over
-- server.max-request-field-size, a long URI included (431), sessiongate
-- unreachable (503, 500). Most happen before any $HTTP["url"] condition
-- or other module has run; this hook runs for every response, just before
-- its headers go out. For a response under MOUNT with an error status that
-- sessiongate did not write (its answers are application/json already),
-- the body is replaced by the envelope, the headers set to the API's
-- (Content-Type, Cache-Control, X-Content-Type-Options, X-Request-ID).
-- Requests whose target lighttpd could not read at all (a 431 with an
-- overlong request line) get the envelope too: they might be for the API.
-- Other responses pass untouched.

local MOUNT = "/api/v1"   -- the fastcgi.server prefix of sessiongate.conf

-- status -> code, message; UPSTREAM_UNAVAILABLE: sessiongate unreachable
-- or not answering (lighttpd says 503, or 500 when its backend died).
local ERRORS = {
    [400] = { "BAD_REQUEST", "The web server could not parse the request." },
    [403] = { "FORBIDDEN", "The web server refused the request." },
    [404] = { "NOT_FOUND", "No such route." },
    [405] = { "METHOD_NOT_ALLOWED", "This method is not allowed here." },
    [408] = { "REQUEST_TIMEOUT", "The request took too long to arrive." },
    [411] = { "LENGTH_REQUIRED", "A request with a body needs a Content-Length (send Content-Length: 0 for none)." },
    [413] = { "PAYLOAD_TOO_LARGE", "The request body is too large." },
    [414] = { "URI_TOO_LONG", "The request URI is too long." },
    [417] = { "EXPECTATION_FAILED", "The Expect header cannot be met." },
    [431] = { "HEADERS_TOO_LARGE", "The request header fields are too large." },
    [500] = { "INTERNAL_ERROR", "The web server failed to handle the request." },
    [501] = { "NOT_IMPLEMENTED", "The web server does not support this request." },
    [502] = { "UPSTREAM_UNAVAILABLE", "The authentication service is unavailable." },
    [503] = { "UPSTREAM_UNAVAILABLE", "The authentication service is unavailable." },
    [504] = { "UPSTREAM_UNAVAILABLE", "The authentication service is unavailable." },
    [505] = { "HTTP_VERSION_NOT_SUPPORTED", "This HTTP version is not supported." },
}

local r = lighty.r
local status = r.req_item.http_status
if status < 400 then return 0 end
local ctype = r.resp_header["Content-Type"] or ""
if ctype:find("^application/json") then return 0 end

-- The target as the client sent it (absolute form reduced to its path).
local target = r.req_attr["request.uri"]
if target and target ~= "" then
    target = target:gsub("^%a[%w+.-]*://[^/]*", "")
    local rest = target:sub(#MOUNT + 1, #MOUNT + 1)
    if target:sub(1, #MOUNT) ~= MOUNT or (rest ~= "" and rest ~= "/" and rest ~= "?") then
        return 0
    end
end

-- A NUL byte in the path: 404 like any path sessiongate has no route for.
if status == 400 and target and (target:match("^[^?]*") or ""):find("%%00") then
    status = 404
end
local e = ERRORS[status] or (status < 500 and ERRORS[400] or ERRORS[500])
r.resp_body.set({ '{"success":false,"error":{"code":"' .. e[1] ..
    '","message":"' .. e[2] .. '"}}\n' })
r.resp_header["Content-Type"] = "application/json; charset=utf-8"
r.resp_header["Cache-Control"] = "no-store"
r.resp_header["X-Content-Type-Options"] = "nosniff"
if e[1] == "UPSTREAM_UNAVAILABLE" then r.resp_header["Retry-After"] = "5" end
-- sessiongate sets X-Request-ID on each of its answers; lighttpd's own
-- get a random one (for logs and support requests, not a secret).
if not r.resp_header["X-Request-ID"] then
    local ok, id = pcall(function()
        local c = lighty.c
        return string.format("%08x%08x%08x%08x", c.rand() & 0xffffffff,
            c.rand() & 0xffffffff, c.rand() & 0xffffffff, c.rand() & 0xffffffff)
    end)
    if not ok then
        id = string.format("%08x%08x", math.random(0, 0x7fffffff), os.time())
    end
    r.resp_header["X-Request-ID"] = id
end
-- Returning the status marks the new body complete (Content-Length).
return status
