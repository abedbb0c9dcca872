import { defineConfig } from 'tsup';

// One bundle for every node: the runtime's process-wide state (the action bus, the shared
// embedded databases) must exist once, whichever node file Node-RED requires first.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['cjs'],
  target: 'node18',
  platform: 'node',
  clean: true,
  dts: true,
  sourcemap: false,
});
