import { Link } from '../components/link.js';
import { useTitle } from '../hooks.js';

export function NotFoundView() {
  useTitle('Not found');
  return (
    <div class="page">
      <h1>Page not found</h1>
      <p>
        There is no such page in kubegate. <Link href="/ui/">Go to the queue</Link>.
      </p>
    </div>
  );
}
