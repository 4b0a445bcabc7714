/**
 * The best of `shipped` for the person's preferences, in order: an exact id, else the same language in another
 * region ("pt-PT" → "pt-BR", "zh-Hans-CN" → "zh-CN"), else English. The dashboard and the main process both ask it.
 */
export function matchShippedLocale(shipped: readonly string[], preferred: readonly string[]): string {
  for (const wanted of preferred) {
    const lower = wanted.toLowerCase();
    const exact = shipped.find((id) => id.toLowerCase() === lower);
    if (exact) return exact;
    const language = lower.split(/[-_]/)[0];
    const sameLanguage = shipped.find((id) => id.toLowerCase().split('-')[0] === language);
    if (sameLanguage) return sameLanguage;
  }
  return 'en';
}
