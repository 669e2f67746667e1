// comlink ships its Node endpoint as an .mjs beside a .d.ts; TypeScript looks for a .d.mts there.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  export { default } from 'comlink/dist/esm/node-adapter';
}
