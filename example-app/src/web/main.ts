// The snippets board page: connects (config from the CLI server's /config.json), then keeps the
// shard map live by polling the status every POLL_MS, lists and saves snippets on the chosen page,
// and runs the load generator. Errors (an edit by someone who is not the owner) are shown as text.
import { type Backend, connect, type PageConfig } from './backends.js';
import { renderShardMap } from './shard-map.js';

const POLL_MS = 1_000;
const LOAD_COUNT = 200;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function say(text: string, error = false): void {
  const m = $('message');
  m.textContent = text;
  m.className = error ? 'error' : '';
}

function readable(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

async function refreshSnippets(backend: Backend): Promise<void> {
  const list = $('snippets');
  const items = await backend.list($<HTMLInputElement>('page').value);
  list.replaceChildren(
    ...items.map((s) => {
      const li = document.createElement('li');
      li.dataset.id = s.id;
      li.innerHTML = '<span class="body"></span> <span class="owner"></span> <button type="button">edit</button>';
      li.querySelector('.body')!.textContent = s.body;
      li.querySelector('.owner')!.textContent = `${s.id} by ${s.owner.slice(0, 11)}…${s.owner === backend.me ? ' (you)' : ''}`;
      li.querySelector('button')!.addEventListener('click', () => {
        $<HTMLInputElement>('snippet-id').value = s.id;
        $<HTMLInputElement>('body').value = s.body;
      });
      return li;
    }),
  );
}

async function start(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as PageConfig;
  const backend = await connect(config);
  $('source').textContent = backend.source;
  $('me').textContent = backend.me;
  const poll = async () => {
    try {
      const status = await backend.status();
      $('epoch').textContent = String(status.epoch);
      renderShardMap($('shards'), status);
    } catch (error) {
      say(`status: ${readable(error)}`, true);
    }
    setTimeout(poll, POLL_MS);
  };
  void poll();
  void refreshSnippets(backend);
  $('page').addEventListener('change', () => void refreshSnippets(backend));
  $('add').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $<HTMLInputElement>('snippet-id').value.trim() || undefined;
    const body = $<HTMLInputElement>('body').value;
    backend.save($<HTMLInputElement>('page').value, id, body).then(
      (saved) => {
        say(`saved ${saved.id}`);
        $<HTMLInputElement>('snippet-id').value = '';
        $<HTMLInputElement>('body').value = '';
        return refreshSnippets(backend);
      },
      (error) => say(`not saved: ${readable(error)}`, true),
    );
  });
  $('load').addEventListener('click', () => {
    $('load-status').textContent = `writing ${LOAD_COUNT} snippets…`;
    backend.load(LOAD_COUNT).then(
      (n) => ($('load-status').textContent = `wrote ${n} snippets`),
      (error) => ($('load-status').textContent = `load failed: ${readable(error)}`),
    );
  });
  document.body.dataset.ready = 'true';
}

start().catch((error) => say(`cannot start: ${readable(error)}`, true));
