// The reviewer UI's entry point: renders the shell into #app. Loaded as /ui/assets/app.js (a
// module, the page's only script, as the Content-Security-Policy requires).
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
