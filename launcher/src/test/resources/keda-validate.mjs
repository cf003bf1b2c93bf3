// Validates KEDA objects (a JSON array on stdin) with @kubernetes-models/keda, whose validators
// are generated from KEDA's CRDs: types, enums and required fields (ChartTest). Prints one line
// per invalid object and exits 1 if there is any.
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const kinds = { ScaledObject, TriggerAuthentication };
let input = "";
for await (const chunk of process.stdin) input += chunk;
let failed = 0;
for (const object of JSON.parse(input)) {
  const what = `${object.kind} ${object.metadata?.name}`;
  const Kind = kinds[object.kind];
  if (!Kind) {
    console.log(`${what}: not a kind this check knows`);
    failed++;
    continue;
  }
  try {
    new Kind(object).validate();
    console.log(`${what}: valid`);
  } catch (e) {
    console.log(`${what}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
