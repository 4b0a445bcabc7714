// Trust on first use of a wss:// gateway's certificate, only on the person's word (docs/remote-gateways.md
// § Transport security): a native message box shows what the server presented; "Don't trust" is the default and the
// cancel action (Enter, Esc and closing all decline), and only a click on "Trust this certificate" pins it.
import type { ServerCertificateInfo } from '../gateway/remote/tls-pin';
import { formatTlsFingerprint } from '../gateway/remote/transport-policy';
import { hardenForDisplay } from './display-hardening';
import type { DialogLike, MessageBoxOptions } from './electron-facades';

export const DONT_TRUST = 'Don’t trust';
export const TRUST_CERTIFICATE = 'Trust this certificate';
const TRUST_INDEX = 1;

export interface CertificateTrustRequest {
  gateway: string;
  url: string;
  certificate: ServerCertificateInfo;
}

/** The box, pure so its wording and its default are tested as they are shown. */
export function certificateTrustOptions(request: CertificateTrustRequest): MessageBoxOptions {
  const { certificate: cert } = request;
  // Subject and issuer are whatever the server chose to put there.
  const shown = (text: string) => hardenForDisplay(text).text;
  return {
    type: 'warning',
    title: 'Trust this gateway’s certificate?',
    message: `Trust the certificate of the gateway "${shown(request.gateway)}"?`,
    detail: [
      `${shown(request.url)} presents this certificate:`,
      '',
      `SHA-256 fingerprint:\n${formatTlsFingerprint(cert.fingerprint)}`,
      '',
      `Subject: ${shown(cert.subject) || '(none)'}`,
      `Issuer: ${shown(cert.issuer) || '(none)'}`,
      `Valid: ${shown(cert.validFrom)} – ${shown(cert.validTo)}`,
      `Trusted by this system: ${cert.caTrusted ? 'yes' : `no (${shown(cert.caError ?? 'not issued by a trusted authority')})`}`,
      '',
      'Compare the fingerprint with the one shown on the gateway machine before you trust it. Once trusted, Clawdesk connects only while the gateway presents exactly this certificate.',
    ].join('\n'),
    buttons: [DONT_TRUST, TRUST_CERTIFICATE],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
    normalizeAccessKeys: false,
  };
}

/** Asks; true only when the person clicked "Trust this certificate" for exactly the certificate shown. */
export async function confirmCertificateTrust(dialog: DialogLike, request: CertificateTrustRequest): Promise<boolean> {
  const { response } = await dialog.showMessageBox(certificateTrustOptions(request));
  return response === TRUST_INDEX;
}
