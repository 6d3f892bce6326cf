// Small pieces every view uses.
import { t, type Lang } from "./i18n";
import { local, utc } from "./time";

// A time as the watch reads it: UTC, and the browser's local time beside it.
export function Time({ iso, lang }: { iso: string | null | undefined; lang: Lang }) {
  if (!iso) return <span class="muted">{t(lang, "notYet")}</span>;
  return (
    <span>
      <time dateTime={iso}>{utc(iso)}</time> <span class="muted">({t(lang, "local")}: {local(iso, lang)})</span>
    </span>
  );
}
