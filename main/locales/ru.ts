import type { MainCatalog } from './en';

export const ru: MainCatalog = {
  'gateway.running': 'Шлюз работает на порту {port}',
  'gateway.attached': 'Подключено к {owner} на порту {port}',
  'gateway.starting': 'Шлюз запускается на порту {port}',
  'gateway.stopped': 'Шлюз остановлен',
  'gateway.degraded': 'Шлюз работает с ошибками',
  'gateway.degradedWhy': 'Шлюз работает с ошибками: {error}',
  'gateway.error': 'Ошибка шлюза',
  'gateway.errorWhy': 'Ошибка шлюза: {error}',
  'tooltip.approvals':
    '{count, plural, one {# запрос ждёт подтверждения} few {# запроса ждут подтверждения} many {# запросов ждут подтверждения} other {# запроса ждут подтверждения}}',
  'tooltip.pairings':
    '{count, plural, one {# запрос на сопряжение} few {# запроса на сопряжение} many {# запросов на сопряжение} other {# запроса на сопряжение}}',
  'tooltip.notices':
    '{count, plural, one {# проблема требует решения} few {# проблемы требуют решения} many {# проблем требуют решения} other {# проблемы требуют решения}}',
  'menu.mode': 'Шлюз: {mode}',
  'menu.modeSwitch': 'Режим шлюза',
  'menu.fix': 'Решение: {fix}',
  'menu.owner': 'Владелец: {owner}',
  'menu.approvals': 'Ожидают подтверждения ({count, number})',
  'menu.pairings': 'Ожидают сопряжения ({count, number})',
  'menu.more':
    '{count, plural, one {Ещё # ждёт} few {Ещё # ждут} many {Ещё # ждут} other {Ещё # ждут}}: открыть панель управления',
  'menu.notices':
    '{count, plural, one {# проблема требует решения} few {# проблемы требуют решения} many {# проблем требуют решения} other {# проблемы требуют решения}}: открыть панель управления',
  'menu.dashboard': 'Открыть панель управления',
  'menu.controlUi': 'Открыть Control UI OpenClaw',
  'menu.start': 'Запустить шлюз',
  'menu.stop': 'Остановить шлюз',
  'menu.restart': 'Перезапустить шлюз',
  'menu.restartToUpdate': 'Перезапустить для обновления',
  'menu.cancelRestart': 'Отменить перезапуск для обновления',
  'menu.updateChannel': 'Канал обновлений',
  'menu.channelStable': 'Стабильный',
  'menu.channelBeta': 'Бета (предварительные версии)',
  'menu.startAtLogin': 'Запускать при входе в систему',
  'menu.quit': 'Выйти из Clawdesk',
  'notify.deny': 'Запретить',
  'notify.later': 'Позже',
  'notify.openToReview': 'Откройте, чтобы проверить команду целиком.',
  'notify.warningsOpenToReview': 'Есть предупреждения. Откройте, чтобы проверить команду целиком.',
  'notify.summaryTitle':
    '{count, plural, one {Ещё # команда ждёт подтверждения} few {Ещё # команды ждут подтверждения} many {Ещё # команд ждут подтверждения} other {Ещё # команды ждут подтверждения}}',
  'notify.summaryBody': 'Откройте Clawdesk, чтобы проверить их по одной.',
};
