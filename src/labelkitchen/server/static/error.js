// error page: built on common.js (api, el).
