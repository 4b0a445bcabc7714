import {
  isLiteralElement,
  isPluralElement,
  isSelectElement,
  isTagElement,
  parse,
  type MessageFormatElement,
} from '@formatjs/icu-messageformat-parser';
import { printAST } from '@formatjs/icu-messageformat-parser/printer.js';
import { en, type Catalog, type MessageKey } from './en';

const ACCENTED: Record<string, string> = {
  a: 'á',
  e: 'é',
  i: 'í',
  o: 'ö',
  u: 'ü',
  c: 'ç',
  n: 'ñ',
  y: 'ý',
  s: 'š',
  z: 'ž',
  A: 'Á',
  E: 'É',
  I: 'Í',
  O: 'Ö',
  U: 'Ü',
  C: 'Ç',
  N: 'Ñ',
  Y: 'Ý',
  S: 'Š',
  Z: 'Ž',
};

function accent(elements: MessageFormatElement[]): void {
  for (const el of elements) {
    if (isLiteralElement(el)) el.value = [...el.value].map((ch) => ACCENTED[ch] ?? ch).join('');
    else if (isPluralElement(el) || isSelectElement(el))
      for (const option of Object.values(el.options)) accent(option.value);
    else if (isTagElement(el)) accent(el.children);
  }
}

/**
 * The pseudo-locale: the letters of every literal accented (placeholders and plural/select syntax untouched,
 * through the ICU parser) and the text made about 40% longer, so layouts are tried against long, unusual text.
 */
export function pseudoLocalise(message: string): string {
  const ast = parse(message);
  accent(ast);
  const body = printAST(ast);
  const padding = Math.max(2, Math.ceil(message.length * 1.4) - body.length - 3);
  // Padding in short words, as real longer text has spaces to wrap at.
  const filler = '·'.repeat(padding).replace(/(·{4})(?=·)/g, '$1 ');
  return `⟦${body} ${filler}⟧`;
}

export const pseudo: Catalog = Object.fromEntries(
  (Object.keys(en) as MessageKey[]).map((key) => [key, pseudoLocalise(en[key])]),
) as Catalog;
