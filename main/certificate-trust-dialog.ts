// Trust on first use of a wss:// gateway's certificate, only on the person's word (docs/remote-gateways.md
// § Transport security): a native message box shows what the server presented; "Don't trust" is the default and the
// cancel action (Enter, Esc and closing all decline), and only a click on "Trust this certificate" pins it.
import type { ServerCertificateInfo } from '../gateway/remote/tls-pin';
import { formatTlsFingerprint } from '../gateway/remote/transport-policy';
import { hardenForDisplay } from './display-hardening';
import type { DialogLike, MessageBoxOptions } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';

export const DONT_TRUST = englishMain('trust.dontTrust');
export const TRUST_CERTIFICATE = englishMain('trust.trust');
/** The buttons' order is fixed: "Don't trust" first (the default and the cancel action), whatever the language. */
const DONT_TRUST_INDEX = 0;
const TRUST_INDEX = 1;

export interface CertificateTrustRequest {
  gateway: string;
  url: string;
  certificate: ServerCertificateInfo;
  /** The fingerprint the gateway advertised on the network (discovery), already found equal to the presented one. */
  advertisedFingerprint?: string;
}

/**
 * The box, pure so its wording and its default are tested as they are shown. The words are `t`'s (the person's
 * language); what the server presented (its URL, subject, issuer, dates, its TLS error) is shown as it is, hardened,
 * and the fingerprint is never translated.
 */
export function certificateTrustOptions(
  request: CertificateTrustRequest,
  t: MainTranslate = englishMain,
): MessageBoxOptions {
  const { certificate: cert } = request;
  // Subject and issuer are whatever the server chose to put there.
  const shown = (text: string) => hardenForDisplay(text).text;
  const buttons: string[] = [];
  buttons[DONT_TRUST_INDEX] = t('trust.dontTrust');
  buttons[TRUST_INDEX] = t('trust.trust');
  return {
    type: 'warning',
    title: t('trust.title'),
    message: t('trust.message', { gateway: shown(request.gateway) }),
    detail: [
      t('trust.presents', { url: shown(request.url) }),
      '',
      `${t('trust.fingerprint')}\n${formatTlsFingerprint(cert.fingerprint)}`,
      ...(request.advertisedFingerprint === cert.fingerprint ? [t('trust.advertised')] : []),
      '',
      t('trust.subject', { subject: shown(cert.subject) || t('trust.none') }),
      t('trust.issuer', { issuer: shown(cert.issuer) || t('trust.none') }),
      t('trust.valid', { from: shown(cert.validFrom), to: shown(cert.validTo) }),
      cert.caTrusted
        ? t('trust.systemYes')
        : t('trust.systemNo', { reason: cert.caError ? shown(cert.caError) : t('trust.notIssuedByTrusted') }),
      '',
      t('trust.compare'),
    ].join('\n'),
    buttons,
    defaultId: DONT_TRUST_INDEX,
    cancelId: DONT_TRUST_INDEX,
    noLink: true,
    normalizeAccessKeys: false,
  };
}

/**
 * Asks; true only when the person clicked "Trust this certificate" for exactly the certificate shown. With `parent`
 * (the dashboard the person added the gateway from) the box is modal to it: a sheet on macOS, never behind it.
 */
export async function confirmCertificateTrust(
  dialog: DialogLike,
  request: CertificateTrustRequest,
  t: MainTranslate = englishMain,
  parent?: Electron.BaseWindow,
): Promise<boolean> {
  const options = certificateTrustOptions(request, t);
  const { response } = await (parent ? dialog.showMessageBox(parent, options) : dialog.showMessageBox(options));
  return response === TRUST_INDEX;
}
