// An <a> that moves within the UI without reloading the page; a modified click (new tab) is left
// to the browser.
import type { ComponentChildren } from 'preact';
import { isPlainClick, navigate } from '../navigation.js';

interface Props {
  readonly href: string;
  readonly class?: string;
  readonly title?: string;
  readonly 'aria-label'?: string;
  readonly 'aria-current'?: 'page';
  readonly 'data-testid'?: string;
  readonly children?: ComponentChildren;
}

export function Link({ href, children, ...rest }: Props) {
  const onClick = (e: MouseEvent): void => {
    if (!isPlainClick(e)) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
