export { PageLan, pageLan, type NicType } from './page-lan.ts';
export { default as LanStatus } from './lan-status.svelte';
