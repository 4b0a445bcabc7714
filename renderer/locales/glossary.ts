/**
 * One term per language for the words a security decision depends on. The decision labels must be these exact
 * words; the messages listed under `usedIn` must contain one of the term's forms (`forms`: the stems a
 * language inflects it into). test/renderer/i18n.test.ts holds every catalogue to it.
 */
import type { MessageKey } from './en';

export type Term = 'allowOnce' | 'allowAlways' | 'deny' | 'approve' | 'reject' | 'pairing' | 'device' | 'node';

export const EXACT: Partial<Record<Term, MessageKey>> = {
  allowOnce: 'decision.allowOnce',
  allowAlways: 'decision.allowAlways',
  deny: 'decision.deny',
  // A pairing request's answers (the Devices view and the main process's pairing prompt).
  approve: 'pairing.approve',
  reject: 'pairing.reject',
};

export const USED_IN: Record<Term, readonly MessageKey[]> = {
  allowOnce: ['decision.allowOnce'],
  allowAlways: ['decision.allowAlways'],
  deny: ['decision.deny'],
  approve: ['pairing.approve'],
  reject: ['pairing.reject'],
  pairing: [
    'card.pairingKicker',
    'overview.pairingsError',
    'overview.pendingPairings',
    'devices.pendingCaption',
    'secrets.ephemeral',
  ],
  device: [
    'card.pairingKicker',
    'nav.devices',
    'devices.colDevice',
    'devices.noneWaiting',
    'devices.pairedCaption',
    'devices.removeDevice',
    'secrets.notSavedTitle',
    'secrets.ephemeral',
  ],
  node: [
    'nav.nodes',
    'overview.nodes',
    'overview.nodesConnected',
    'nodes.caption',
    'nodes.colNode',
    'nodes.none',
    'secrets.ephemeral',
  ],
};

export const GLOSSARY: Record<string, Record<Term, { term: string; forms: readonly string[] }>> = {
  en: {
    allowOnce: { term: 'Allow once', forms: ['Allow once'] },
    allowAlways: { term: 'Always allow', forms: ['Always allow'] },
    deny: { term: 'Deny', forms: ['Deny'] },
    approve: { term: 'Approve', forms: ['Approve'] },
    reject: { term: 'Reject', forms: ['Reject'] },
    pairing: { term: 'pairing', forms: ['pair', 'Pair'] },
    device: { term: 'device', forms: ['device', 'Device'] },
    node: { term: 'node', forms: ['node', 'Node'] },
  },
  de: {
    allowOnce: { term: 'Einmal erlauben', forms: ['Einmal erlauben'] },
    allowAlways: { term: 'Immer erlauben', forms: ['Immer erlauben'] },
    deny: { term: 'Ablehnen', forms: ['Ablehnen'] },
    approve: { term: 'Annehmen', forms: ['Annehmen'] },
    reject: { term: 'Zurückweisen', forms: ['Zurückweisen'] },
    pairing: { term: 'Kopplung', forms: ['Kopplung', 'koppeln', 'gekoppelt'] },
    device: { term: 'Gerät', forms: ['Gerät'] },
    node: { term: 'Knoten', forms: ['Knoten'] },
  },
  fr: {
    allowOnce: { term: 'Autoriser une fois', forms: ['Autoriser une fois'] },
    allowAlways: { term: 'Toujours autoriser', forms: ['Toujours autoriser'] },
    deny: { term: 'Refuser', forms: ['Refuser'] },
    approve: { term: 'Accepter', forms: ['Accepter'] },
    reject: { term: 'Rejeter', forms: ['Rejeter'] },
    pairing: { term: 'association', forms: ['association', 'associer', 'Association'] },
    device: { term: 'appareil', forms: ['appareil', 'Appareil'] },
    node: { term: 'nœud', forms: ['nœud', 'Nœud'] },
  },
  es: {
    allowOnce: { term: 'Permitir una vez', forms: ['Permitir una vez'] },
    allowAlways: { term: 'Permitir siempre', forms: ['Permitir siempre'] },
    deny: { term: 'Denegar', forms: ['Denegar'] },
    approve: { term: 'Aceptar', forms: ['Aceptar'] },
    reject: { term: 'Rechazar', forms: ['Rechazar'] },
    pairing: {
      term: 'vinculación',
      forms: ['vinculación', 'vincular', 'Vinculación', 'vinculaciones', 'Vinculaciones'],
    },
    device: { term: 'dispositivo', forms: ['dispositivo', 'Dispositivo'] },
    node: { term: 'nodo', forms: ['nodo', 'Nodo'] },
  },
  'pt-BR': {
    allowOnce: { term: 'Permitir uma vez', forms: ['Permitir uma vez'] },
    allowAlways: { term: 'Sempre permitir', forms: ['Sempre permitir'] },
    deny: { term: 'Negar', forms: ['Negar'] },
    approve: { term: 'Aceitar', forms: ['Aceitar'] },
    reject: { term: 'Recusar', forms: ['Recusar'] },
    pairing: { term: 'pareamento', forms: ['pareamento', 'parear', 'Pareamento'] },
    device: { term: 'dispositivo', forms: ['dispositivo', 'Dispositivo'] },
    node: { term: 'nó', forms: ['nó', 'Nó', 'nós', 'Nós'] },
  },
  ja: {
    allowOnce: { term: '今回のみ許可', forms: ['今回のみ許可'] },
    allowAlways: { term: '常に許可', forms: ['常に許可'] },
    deny: { term: '拒否', forms: ['拒否'] },
    approve: { term: '承認する', forms: ['承認する'] },
    reject: { term: '却下する', forms: ['却下する'] },
    pairing: { term: 'ペアリング', forms: ['ペアリング'] },
    device: { term: 'デバイス', forms: ['デバイス'] },
    node: { term: 'ノード', forms: ['ノード'] },
  },
  'zh-CN': {
    allowOnce: { term: '仅允许一次', forms: ['仅允许一次'] },
    allowAlways: { term: '始终允许', forms: ['始终允许'] },
    deny: { term: '拒绝', forms: ['拒绝'] },
    approve: { term: '批准', forms: ['批准'] },
    reject: { term: '驳回', forms: ['驳回'] },
    pairing: { term: '配对', forms: ['配对'] },
    device: { term: '设备', forms: ['设备'] },
    node: { term: '节点', forms: ['节点'] },
  },
  ko: {
    allowOnce: { term: '한 번 허용', forms: ['한 번 허용'] },
    allowAlways: { term: '항상 허용', forms: ['항상 허용'] },
    deny: { term: '거부', forms: ['거부'] },
    approve: { term: '수락', forms: ['수락'] },
    reject: { term: '거절', forms: ['거절'] },
    pairing: { term: '페어링', forms: ['페어링'] },
    device: { term: '기기', forms: ['기기'] },
    node: { term: '노드', forms: ['노드'] },
  },
  ru: {
    allowOnce: { term: 'Разрешить один раз', forms: ['Разрешить один раз'] },
    allowAlways: { term: 'Всегда разрешать', forms: ['Всегда разрешать'] },
    deny: { term: 'Запретить', forms: ['Запретить'] },
    approve: { term: 'Принять', forms: ['Принять'] },
    reject: { term: 'Отклонить', forms: ['Отклонить'] },
    pairing: { term: 'сопряжение', forms: ['сопряж', 'Сопряж'] },
    device: { term: 'устройство', forms: ['устройств', 'Устройств'] },
    node: { term: 'узел', forms: ['узел', 'Узел', 'узл', 'Узл'] },
  },
  ar: {
    allowOnce: { term: 'السماح مرة واحدة', forms: ['السماح مرة واحدة'] },
    allowAlways: { term: 'السماح دائمًا', forms: ['السماح دائمًا'] },
    deny: { term: 'رفض', forms: ['رفض'] },
    approve: { term: 'قبول', forms: ['قبول'] },
    reject: { term: 'رد الطلب', forms: ['رد الطلب'] },
    pairing: { term: 'الاقتران', forms: ['اقتران', 'الاقتران', 'يقترن'] },
    device: { term: 'جهاز', forms: ['جهاز', 'أجهزة', 'الأجهزة', 'الجهاز'] },
    node: { term: 'عقدة', forms: ['عقدة', 'عقد', 'العقد'] },
  },
};
