export { default as LessonView } from './lesson-view.svelte';
