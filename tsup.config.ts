import { defineConfig } from 'tsup';

export default defineConfig([
  // One bundle for every node: the runtime's process-wide state (the action bus, the shared
  // embedded databases) must exist once, whichever node file Node-RED requires first.
  {
    entry: { index: 'src/index.ts' },
    format: ['cjs'],
    target: 'node18',
    platform: 'node',
    clean: true,
    dts: true,
    sourcemap: false,
  },
  // The editor's machine diagram (elkjs included), for the browser: Node-RED serves a module's
  // `resources/` folder at `resources/<module>/`. It defines `window.XStateDiagram`.
  {
    entry: { 'xstate-diagram': 'src/editor/index.ts' },
    outDir: 'resources',
    format: ['iife'],
    globalName: 'XStateDiagram',
    outExtension: () => ({ js: '.js' }),
    platform: 'browser',
    target: 'es2020',
    tsconfig: 'src/editor/tsconfig.json',
    minify: true,
    // Minifying drops elkjs's own license headers; its licence must travel with the code it ships.
    banner: {
      js: '/*! node-red-contrib-xstate-durable editor diagram (MIT). Bundles elkjs (https://github.com/kieler/elkjs), Copyright (c) Kiel University and others, EPL-2.0 OR GPL-3.0-or-later: https://www.eclipse.org/legal/epl-2.0 */',
    },
    clean: false,
    dts: false,
    sourcemap: false,
  },
]);
