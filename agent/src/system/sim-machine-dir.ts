// The simulated machine's folder: generations, the store's system metadata and small state files, each written whole.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import type { SimSystemMeta } from "./sim-derive.js";
import { readSmallFile } from "./read-small-file.js";

export class SimMachineDir {
  constructor(readonly dir: string) {}

  /** Generation numbers, oldest first (for tests and the demo). */
  async generations(): Promise<number[]> {
    return (await readdir(join(this.dir, "generations"))).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  }

  /** The newest generation of `systemPath`, or null if none has it. */
  async newestGeneration(systemPath: string): Promise<number | null> {
    for (const gen of (await this.generations()).reverse()) {
      if ((await this.read(join("generations", String(gen), "system"))) === systemPath) return gen;
    }
    return null;
  }

  /** A new machine: the initial system as generation 1, booted, current and the boot default. */
  async installInitial(initial: SimSystemMeta, bootId: string): Promise<void> {
    await this.saveMeta(initial);
    await this.writeGeneration(1, initial.kernel, initial.systemPath);
    await this.write("boot-default", "1");
    await this.write("current-system", initial.systemPath);
    await this.write("booted-system", initial.systemPath);
    await this.write("activated-by", "boot");
    await this.write("boot-id", bootId);
  }

  async bootDefault(): Promise<string> {
    return this.mustRead(join("generations", await this.mustRead("boot-default"), "system"));
  }

  async addGeneration(systemPath: string): Promise<number> {
    const gen = ((await this.generations()).at(-1) ?? 0) + 1;
    await this.writeGeneration(gen, (await this.meta(systemPath)).kernel, systemPath);
    return gen;
  }

  /**
   * Written aside and renamed into place, as nix-env switches the profile link: an agent killed half-way (found by
   * the long chaos run) must not leave a generation without a system behind. The staging name is not a number, so
   * `generations()` never lists it.
   */
  async writeGeneration(gen: number, kernel: string, systemPath: string): Promise<void> {
    const staging = join("generations", `.${gen}.${process.pid}.staging`);
    await this.write(join(staging, "kernel"), kernel);
    await this.write(join(staging, "system"), systemPath);
    await rename(join(this.dir, staging), join(this.dir, "generations", String(gen)));
  }

  metaFile(systemPath: string): string {
    return join("store", systemPath.slice(systemPath.lastIndexOf("/") + 1), "meta.json");
  }

  saveMeta(meta: SimSystemMeta): Promise<void> {
    return this.write(this.metaFile(meta.systemPath), JSON.stringify(meta, null, 2));
  }

  async meta(systemPath: string): Promise<SimSystemMeta> {
    const text = await this.read(this.metaFile(systemPath));
    if (text === null) throw new NkError("IO", `simulated store has no ${systemPath}`);
    return JSON.parse(text) as SimSystemMeta;
  }

  async read(rel: string): Promise<string | null> {
    try {
      return readSmallFile(join(this.dir, rel))?.trim() ?? null;
    } catch (err) {
      throw new NkError("IO", `cannot read ${join(this.dir, rel)}`, { cause: err });
    }
  }

  async mustRead(rel: string): Promise<string> {
    const value = await this.read(rel);
    if (value === null) throw new NkError("IO", `simulated machine in ${this.dir} has no ${rel}`);
    return value;
  }

  /** Write-then-rename, so a reader (another agent process) never sees half a file. */
  async write(rel: string, content: string): Promise<void> {
    const path = join(this.dir, rel);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, `${content}\n`, 0o644, { durable: false });
  }

  async remove(rel: string): Promise<void> {
    await rm(join(this.dir, rel), { force: true });
  }
}
