import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { DEBIAN_SWIFTSHADER_ICD } from "./runtime/webgpu/device.ts";

// Dawn's Vulkan loader reads its drivers from the real process environment, which setting
// process.env inside a test process does not reach: the software Vulkan driver (SwiftShader)
// is added to the environment the test processes start with, where it is installed.
const swiftshader = process.env["DLM_VULKAN_ICD"] ?? DEBIAN_SWIFTSHADER_ICD;
const gpuEnv: Record<string, string> =
  existsSync(swiftshader) && !process.env["VK_ICD_FILENAMES"] && !process.env["VK_ADD_DRIVER_FILES"]
    ? { VK_ADD_DRIVER_FILES: swiftshader }
    : {};

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "threads",
    env: gpuEnv,
    // Dawn reads its driver settings from the real process environment, which a worker thread's
    // process.env does not change: WebGPU tests run in processes of their own
    poolMatchGlobs: [["**/test/**/webgpu/**", "forks"]],
  },
});
