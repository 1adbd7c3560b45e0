// Loaded before every test file: git must trust the coordinator's CA given per command (http.sslCAInfo), which a
// machine-wide GIT_SSL_CAINFO in the environment would silently override.
delete process.env.GIT_SSL_CAINFO;
// A run started from inside git (a hook, `git bisect run`) inherits variables that point every git command at the
// caller's repository: the tests' own `git init` and commits would land there instead of in their temp dirs.
for (const name of ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_PREFIX"]) delete process.env[name];
