// Child process of the leader crash tests: campaigns via LeaderElection and prints each change as a JSON line until killed.
import { createEtcdClient } from "../store/etcd-client.js";
import { LeaderElection } from "./leader-election.js";

const [endpoint, prefix, id] = process.argv.slice(2);
if (!endpoint || !prefix || !id) throw new Error("usage: election-candidate <endpoint> <prefix> <id>");
const client = await createEtcdClient({ endpoints: [endpoint] });
const election = LeaderElection.start({ client, prefix, id });
election.onChange((leader) => process.stdout.write(`${JSON.stringify({ leader, guard: election.leaderGuard() })}\n`));
// Stdin closing means the test is gone: resign and exit. A SIGKILL skips this, which is the point.
process.stdin.resume();
process.stdin.on("end", () => {
  void election.close().finally(() => {
    client.close();
    process.exit(0);
  });
});
