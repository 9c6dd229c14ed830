import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "threads",
    // Dawn reads its driver settings (VK_ICD_FILENAMES, EGL_PLATFORM) from the real process
    // environment, which a worker thread's process.env does not change: WebGPU tests run in forks
    poolMatchGlobs: [["**/test/webgpu/**", "forks"]],
  },
});
