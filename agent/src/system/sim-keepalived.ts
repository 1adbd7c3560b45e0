// keepalived on a simulated machine, as systemd and the agent's hand-over flag drive it; written where readSimVip reads.
import type { SimMachineDir } from "./sim-machine-dir.js";
import { SIM_VIP_FILES } from "./sim-vip.js";

export const KEEPALIVED = "keepalived.service";

export class SimKeepalived {
  /** `carries`: whether a system has keepalived.service (carries the API VIP). */
  constructor(
    private readonly disk: SimMachineDir,
    private readonly carries: (systemPath: string) => Promise<boolean>,
  ) {}

  /** As the agent before a disruption: the flag fails the track script, and keepalived stops. */
  async handOver(): Promise<void> {
    await this.disk.write(SIM_VIP_FILES.handedOver, "1");
    await this.disk.write(SIM_VIP_FILES.keepalived, "inactive");
  }

  /** Back in the election: the flag goes, and keepalived runs if the running system has it. */
  async rejoin(current: string): Promise<void> {
    await this.disk.remove(SIM_VIP_FILES.handedOver);
    await this.runIfCarried(current);
  }

  /** As switch-to-configuration: keepalived starts when the system gains it and stops when it loses it; else it stays as it was. */
  async afterSwitch(from: string, to: string): Promise<void> {
    const [had, has] = [await this.carries(from), await this.carries(to)];
    if (had !== has) await this.disk.write(SIM_VIP_FILES.keepalived, has ? "active" : "inactive");
  }

  /** At boot systemd starts it if the system has it; a hand-over flag on disk stays. */
  async runIfCarried(system: string): Promise<void> {
    await this.disk.write(SIM_VIP_FILES.keepalived, (await this.carries(system)) ? "active" : "inactive");
  }
}
