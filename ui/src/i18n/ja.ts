// 日本語。en.ts のすべてのキーを持つこと（型と単体テストで確かめる）。

import type { Key } from "./en";

export const ja: Record<Key, string> = {
  "skip.composer": "メッセージ入力欄へ移動",
  "menu.label": "ルームと会話",
  "menu.close": "閉じる",
  "sidebar.label": "ルームと会話",
  "sidebar.rooms": "ルーム",
  "sidebar.directs": "ダイレクトメッセージ",

  "status.connected": "接続済み",
  "status.connecting": "接続しています…",
  "status.reconnecting": "オフライン — 再接続しています…",
  "status.offline": "オフライン",
  "status.signedOut": "サインインしていません",

  "login.welcome": "Hanashi へようこそ",
  "login.signIn": "サインイン",
  "login.orGuest": "するか、名前を決めてゲストとして参加してください。",
  "login.name": "名前",
  "login.namePlaceholder": "例：花子",
  "login.start": "チャットを始める",
  "login.ended": "セッションが終了しました。続けるにはサインインするか、名前を入力してください。",
  "login.everywhere": "すべての端末からサインアウトしました。",

  "error.network": "サーバーに接続できません。接続を確認して、もう一度お試しください。",
  "error.generic": "問題が発生しました。もう一度お試しください。",
  "error.invalid": "受け付けられませんでした。",
  "error.unauthorized": "サインインしていません。",
  "error.forbidden": "その操作は許可されていません。",
  "error.not_found": "見つからないか、表示する権限がありません。",
  "error.conflict": "既存の内容と競合しています。",
  "error.too_large": "サイズが大きすぎます。",
  "error.unsupported_media_type": "このファイル形式には対応していません。PNG、JPEG、GIF、WebP を使ってください。",
  "error.rate_limited": "操作が多すぎます。少し待ってからもう一度お試しください。",
  "error.internal": "サーバーで問題が発生しました。もう一度お試しください。",
  "error.unavailable": "サーバーが混み合っているか再起動中です。もう一度お試しください。",

  "room.none": "ルームを選ぶか、新しく作成してください。",
  "room.newName": "新しいルームの名前",
  "room.private": "非公開",
  "room.create": "ルームを作成",
  "room.join": "ルームに参加",
  "room.leave": "退出",
  "room.kindDirect": "ダイレクト",
  "room.kindPrivate": "非公開",
  "room.kindPublic": "公開",
  "room.unread": "未読 {count} 件",
  "room.mentions": "メンション {count} 件",
  "room.mentions.one": "メンション 1 件",
  "room.loadOlder": "以前のメッセージを読み込む",
  "room.new": "新着",
  "room.loading": "メッセージを読み込んでいます…",
  "room.emptyHistory": "まだメッセージはありません。最初の一言をどうぞ。",
  "room.messages": "{room} のメッセージ",
  "room.linkGone": "そのルームは非公開か、すでに存在しません。",

  "child.button": "中にルームを作成",
  "child.title": "このルームの中に新しいルームを作成",
  "child.name": "中に作るルームの名前",
  "child.create": "作成",
  "child.cancel": "キャンセル",

  "members.toggle": "メンバー",
  "members.heading": "メンバー（{count} 人）",
  "presence.online": "オンライン",
  "presence.away": "離席中",
  "presence.offline": "オフライン",

  "dm.search": "名前でユーザーを検索",
  "dm.nobody": "該当するユーザーはいません。",
  "dm.message": "{name} さんにメッセージを送る",

  "composer.label": "{room} へのメッセージ",
  "composer.placeholder": "{room} にメッセージを送信",
  "composer.hint": "Enter で送信、Shift+Enter で改行します。",
  "composer.joinFirst": "書き込むにはルームに参加してください",
  "composer.send": "送信",

  "message.actions": "メッセージの操作",
  "message.deleted": "このメッセージは削除されました。",
  "message.linkDeleted": "このルームへのリンクは削除されました。",
  "message.createdInside": "このルームの中にルームを作成しました：",
  "message.privateRoom": "非公開のルーム",
  "message.edited": "（編集済み）",
  "message.editedAt": "{time} に編集",
  "message.sending": "送信中…",
  "message.notSent": "送信できませんでした：{error}",
  "message.retry": "再送信",
  "message.discard": "破棄",

  "action.reply": "返信",
  "action.replyTitle": "スレッドで返信",
  "action.react": "リアクション",
  "action.reactTitle": "リアクションを追加",
  "action.edit": "編集",
  "action.editTitle": "自分のメッセージを編集",
  "action.delete": "削除",
  "action.deleteConfirm": "削除しますか？",
  "action.deleteTitle": "自分のメッセージを削除",
  "action.deleteModTitle": "ルームのモデレーターとして削除",

  "edit.label": "メッセージを編集",
  "edit.save": "保存",
  "edit.cancel": "キャンセル",

  "reaction.picker": "リアクション",
  "reaction.add": "{emoji} でリアクション",
  "reaction.title": "{who} が {emoji} でリアクションしました",
  "reaction.someone": "だれか",
  "reaction.more": "ほか {count} 人",

  "thread.heading": "スレッド",
  "thread.root": "返信先のメッセージ",
  "thread.replyList": "返信",
  "thread.replies": "返信 {count} 件",
  "thread.replies.one": "返信 1 件",
  "thread.last": "最終返信 {time}",
  "thread.new": "新着 {count} 件",
  "thread.follow": "フォロー",
  "thread.unfollow": "フォロー解除",
  "thread.followTitle": "新しい返信を通知する",
  "thread.unfollowTitle": "新しい返信を通知しない",
  "thread.close": "閉じる",
  "thread.closeTitle": "スレッドを閉じる",
  "thread.older": "以前の返信を読み込む",
  "thread.composerLabel": "スレッドに返信",
  "thread.placeholder": "スレッドに返信",
  "thread.send": "返信",

  "typing.one": "{name} さんが入力しています…",
  "typing.two": "{a} さんと {b} さんが入力しています…",
  "typing.many": "複数の人が入力しています…",

  "announce.message": "{name}：{body}",

  "settings.open": "設定",
  "settings.heading": "設定",
  "settings.close": "閉じる",
  "settings.language": "言語",
  "settings.theme": "テーマ",
  "settings.themeSystem": "システムに合わせる",
  "settings.themeLight": "ライト",
  "settings.themeDark": "ダーク",
  "settings.name": "表示名",
  "settings.save": "保存",
  "settings.nameSaved": "名前を変更しました。",
  "settings.avatar": "プロフィール画像",
  "settings.avatarUpload": "画像をアップロード",
  "settings.avatarSaved": "プロフィール画像を変更しました。",
  "settings.guest": "ゲストとして参加しています。サインインすると、名前を保ち、画像を設定し、ダイレクトメッセージを送れるようになります。",
  "settings.signOut": "サインアウト",
  "settings.signOutAll": "すべての端末からサインアウト",
  "settings.signOutAllTitle": "このアカウントのすべてのセッションを、すべての端末で終了します",
  // --- reading (A: jump buttons, title and favicon, permalinks, the long list) ---


  // --- writing (B: autocomplete, formatting help, drafts) ---


  // --- emoji (C: the emoji picker, reactions) ---


  // --- actions (D: the actions menu, mark unread) ---
  "actions.more": "その他の操作",
  "actions.moreTitle": "その他の操作（メッセージ上で . または Shift+F10）",
  "actions.menu": "メッセージの操作",
  "actions.reply": "スレッドで返信",
  "actions.react": "リアクションを追加",
  "actions.copyLink": "リンクをコピー",
  "actions.edit": "メッセージを編集",
  "actions.delete": "メッセージを削除",
  "actions.deleteConfirm": "削除しますか？もう一度選ぶと削除します",
  "actions.deleteArmed": "もう一度「削除」を選ぶとメッセージを削除します",
  "actions.markUnread": "未読にする",
  "actions.markedUnread": "このメッセージから未読にしました",
  "actions.linkCopied": "リンクをコピーしました",
  "actions.copyManual": "このリンクをコピーしてください：",
  "actions.edited": "（編集済み）{time}",


  // --- people (E: profile card, room info, settings) ---


  // --- keys (F: shortcuts, quick switcher, the ? sheet) ---
};
