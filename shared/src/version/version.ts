// The nk version every component reports and every bundle pins; kept equal to package.json by a test.
export const NK_VERSION = "0.1.0";
