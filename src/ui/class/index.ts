export { default as ClassBoard } from './class-board.svelte';
