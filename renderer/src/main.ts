import { mount } from 'svelte';
import App from './App.svelte';
import { connectApi } from './lib/api';
import { apiContext } from './lib/context';
import './app.css';

const target = document.getElementById('app')!;
connectApi().then(
  ({ api, status }) => mount(App, { target, context: apiContext(api, status) }),
  (err: Error) => {
    target.textContent = `Plumage could not reach its core: ${err.message}`;
  },
);
