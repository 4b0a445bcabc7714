import type { MainCatalog } from './en';

export const ar: MainCatalog = {
  'gateway.running': 'البوابة تعمل على المنفذ {port}',
  'gateway.attached': 'متصل بـ {owner} على المنفذ {port}',
  'gateway.starting': 'البوابة قيد التشغيل على المنفذ {port}',
  'gateway.stopped': 'البوابة متوقفة',
  'gateway.degraded': 'البوابة تعمل بشكل منقوص',
  'gateway.degradedWhy': 'البوابة تعمل بشكل منقوص: {error}',
  'gateway.error': 'خطأ في البوابة',
  'gateway.errorWhy': 'خطأ في البوابة: {error}',
  'tooltip.approvals':
    '{count, plural, zero {لا موافقات معلّقة} one {موافقة واحدة معلّقة} two {موافقتان معلّقتان} few {# موافقات معلّقة} many {# موافقة معلّقة} other {# موافقة معلّقة}}',
  'tooltip.pairings':
    '{count, plural, zero {لا طلبات اقتران} one {طلب اقتران واحد} two {طلبا اقتران} few {# طلبات اقتران} many {# طلب اقتران} other {# طلب اقتران}}',
  'tooltip.notices':
    '{count, plural, zero {لا مشكلات} one {مشكلة واحدة تحتاج إلى إصلاح} two {مشكلتان تحتاجان إلى إصلاح} few {# مشكلات تحتاج إلى إصلاح} many {# مشكلة تحتاج إلى إصلاح} other {# مشكلة تحتاج إلى إصلاح}}',
  'menu.mode': 'البوابة: {mode}',
  'menu.modeSwitch': 'وضع البوابة',
  'menu.fix': 'الحل: {fix}',
  'menu.owner': 'المالك: {owner}',
  'menu.approvals': 'موافقات معلّقة ({count, number})',
  'menu.pairings': 'طلبات اقتران معلّقة ({count, number})',
  'menu.more':
    '{count, plural, zero {لا شيء آخر} one {واحد آخر بانتظارك} two {اثنان آخران بانتظارك} few {# أخرى بانتظارك} many {# أخرى بانتظارك} other {# أخرى بانتظارك}}: فتح لوحة التحكم',
  'menu.notices':
    '{count, plural, zero {لا مشكلات} one {مشكلة واحدة تحتاج إلى إصلاح} two {مشكلتان تحتاجان إلى إصلاح} few {# مشكلات تحتاج إلى إصلاح} many {# مشكلة تحتاج إلى إصلاح} other {# مشكلة تحتاج إلى إصلاح}}: فتح لوحة التحكم',
  'menu.dashboard': 'فتح لوحة التحكم',
  'menu.controlUi': 'فتح واجهة التحكم (Control UI) في OpenClaw',
  'menu.start': 'تشغيل البوابة',
  'menu.stop': 'إيقاف البوابة',
  'menu.restart': 'إعادة تشغيل البوابة',
  'menu.restartToUpdate': 'إعادة التشغيل للتحديث',
  'menu.cancelRestart': 'إلغاء إعادة التشغيل للتحديث',
  'menu.updateChannel': 'قناة التحديث',
  'menu.channelStable': 'مستقرة',
  'menu.channelBeta': 'تجريبية (إصدارات أولية)',
  'menu.startAtLogin': 'التشغيل عند تسجيل الدخول',
  'menu.quit': 'إنهاء Clawdesk',
  'notify.deny': 'رفض',
  'notify.later': 'لاحقًا',
  'notify.openToReview': 'افتح لمراجعة الأمر كاملًا.',
  'notify.warningsOpenToReview': 'توجد تحذيرات. افتح لمراجعة الأمر كاملًا.',
  'notify.summaryTitle':
    '{count, plural, zero {لا أوامر أخرى} one {أمر آخر واحد بانتظار الموافقة} two {أمران آخران بانتظار الموافقة} few {# أوامر أخرى بانتظار الموافقة} many {# أمرًا آخر بانتظار الموافقة} other {# أمر آخر بانتظار الموافقة}}',
  'notify.summaryBody': 'افتح Clawdesk لمراجعتها واحدًا تلو الآخر.',
};
