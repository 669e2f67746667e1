// The build's knowledge of the committed images (tools/site/plugin.ts makes it from manifest.json).
declare module 'virtual:stacklab/images' {
  const integrity: import('../core/artifacts.ts').ImageIntegrity;
  export default integrity;
}
