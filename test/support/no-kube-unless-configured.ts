/** Coordinators started without a kubeconfig run with the explicit `kube: none` opt-out (it is refused otherwise). */
export function noKubeUnlessConfigured(config: { readonly kubeconfigFile?: unknown; readonly kube?: unknown } | undefined): { kube?: "none" } {
  return config?.kubeconfigFile === undefined && config?.kube === undefined ? { kube: "none" } : {};
}
