// Generates onnx-schema.json, protobufjs's JSON descriptor of the vendored onnx.proto, which
// the exporter loads with protobufjs/light (no .proto parser at run time, and the bundled CLI
// carries the schema inline). Run with `npm run gen:onnx-schema` after updating onnx.proto.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { writeFileAtomic } from "../../../src/atomic.js";

const here = dirname(fileURLToPath(import.meta.url));

/** The descriptor of onnx.proto as protobufjs writes it (field names as in the .proto). */
export function onnxSchemaDescriptor(): protobuf.INamespace {
  const text = readFileSync(join(here, "onnx.proto"), "utf8");
  return protobuf.parse(text, { keepCase: true }).root.toJSON();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFileAtomic(join(here, "onnx-schema.json"), JSON.stringify(onnxSchemaDescriptor(), null, 2) + "\n");
}
