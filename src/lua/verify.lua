-- verify.lua: GET /auth/verify and the FastCGI authorizer.
return {1, RL_REMAINING, RL_RESET}
