/** Must equal package.json build.appId: Windows ties notifications to the Start-menu shortcut's AppUserModelID. */
export const APP_ID = 'ai.clawdesk.app';
export const PRODUCT_NAME = 'Clawdesk';
/** The custom scheme the dashboard is served from (never file://). */
export const APP_SCHEME = 'clawdesk';
export const APP_ORIGIN = `${APP_SCHEME}://app`;
