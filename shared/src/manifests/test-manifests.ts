// Manifest texts the tests share: a namespaced CustomResourceDefinition (Widget.example.com) and one of its objects.

export const WIDGET_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }]
`;

export const WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1, namespace: web }\nspec: { size: 3 }\n";
