// Public surface of shared/installer: the pure renderer of a node's installer stick (nkctl render-installer).
export { renderInstaller, isCoordinatorAddress, INSTALLER_FILES, type InstallerOptions } from "./render-installer.js";
export { filesystemIds, espUuid, renderInstallJson, type FilesystemIds, type InstallSettings } from "./install-settings.js";
export { INSTALL_SCRIPT } from "./install-script.js";
