// A client-node KubeConfig for a FakeKubeApiserver, for tests of the real Kubernetes clients against it. Apart from
// the fake itself: loading client-node costs about a second of CPU, which the fake's other users (the demo, clusters
// whose coordinators run as processes) do not need.
import { KubeConfig } from "@kubernetes/client-node";
import type { FakeKubeApiserver } from "./fake-kube-apiserver.js";

export function fakeKubeConfig(fake: FakeKubeApiserver, token?: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(fake.kubeconfigYaml(token));
  return config;
}
