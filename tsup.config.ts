import { defineConfig, type Options } from 'tsup';

/** A script for the editor's page, `resources/{name}.js`, defining `window[globalName]`. */
function browserBundle(name: string, entry: string, globalName: string, extra: Options = {}): Options {
  return {
    entry: { [name]: entry },
    outDir: 'resources',
    format: ['iife'],
    globalName,
    outExtension: () => ({ js: '.js' }),
    platform: 'browser',
    target: 'es2020',
    tsconfig: 'src/editor/tsconfig.json',
    minify: true,
    clean: false,
    dts: false,
    sourcemap: false,
    ...extra,
  };
}

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
  browserBundle('xstate-diagram', 'src/editor/index.ts', 'XStateDiagram', {
    // Minifying drops elkjs's own license headers; its licence must travel with the code it ships.
    banner: {
      js: '/*! node-red-contrib-xstate-durable editor diagram (MIT). Bundles elkjs (https://github.com/kieler/elkjs), Copyright (c) Kiel University and others, EPL-2.0 OR GPL-3.0-or-later: https://www.eclipse.org/legal/epl-2.0 */',
    },
  }),
  // The edit dialog's preview and the sidebar tab, `window.XStateEditor`: small, loaded with the chart
  // node's HTML; it loads the diagram bundle above when it first draws.
  browserBundle('xstate-editor', 'src/editor/editor-ui.ts', 'XStateEditor'),
]);
