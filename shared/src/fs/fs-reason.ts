// What went wrong on the file system, in words, for messages that already name the path and the flag.

/** "permission denied (check the owner and mode)" for EACCES, and so on; an unknown error keeps its own message. */
export function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied (check the owner and mode)";
    case "ENOTDIR":
      return "a part of the path is a file, not a directory";
    case "EEXIST":
      return "a file or folder is already in the way";
    case "ENOTEMPTY":
      return "the folder is not empty";
    case "EISDIR":
      return "it is a directory";
    case "EROFS":
      return "read-only file system";
    case "ENOSPC":
      return "no space left on the device";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
