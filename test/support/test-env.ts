// Loaded before every test file: git must trust the coordinator's CA given per command (http.sslCAInfo), which a
// machine-wide GIT_SSL_CAINFO in the environment would silently override.
delete process.env.GIT_SSL_CAINFO;
