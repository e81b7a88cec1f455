// English: the reference catalogue. Every string a person sees, labels and
// titles included. {name} is filled in by t(); a key with a ".one" variant
// takes it for a count of one.

export const en = {
  "skip.composer": "Skip to the message box",
  "menu.label": "Rooms and conversations",
  "menu.close": "Close",
  "sidebar.label": "Rooms and conversations",
  "sidebar.rooms": "Rooms",
  "sidebar.directs": "Direct messages",

  "status.connected": "Connected",
  "status.connecting": "Connecting…",
  "status.reconnecting": "Offline — reconnecting…",
  "status.offline": "Offline",
  "status.signedOut": "Not signed in",

  "login.welcome": "Welcome to Hanashi",
  "login.signIn": "Sign in",
  "login.orGuest": ", or pick a name to chat as a guest.",
  "login.name": "Your name",
  "login.namePlaceholder": "e.g. Alice",
  "login.start": "Start chatting",
  "login.ended": "Your session has ended. Sign in or pick a name to continue.",
  "login.everywhere": "Signed out everywhere.",

  "error.network": "Cannot reach the server. Check your connection and try again.",
  "error.generic": "Something went wrong. Please try again.",
  "error.invalid": "That was not accepted.",
  "error.unauthorized": "You are not signed in.",
  "error.forbidden": "You are not allowed to do that.",
  "error.not_found": "That is not there, or not visible to you.",
  "error.conflict": "That clashes with what is there already.",
  "error.too_large": "That is too large.",
  "error.unsupported_media_type": "That kind of file is not accepted: use PNG, JPEG, GIF or WebP.",
  "error.rate_limited": "Too many at once. Wait a moment and try again.",
  "error.internal": "The server had a problem. Please try again.",
  "error.unavailable": "The server is busy or restarting. Please try again.",

  "room.none": "Pick a room, or create one.",
  "room.newName": "New room name",
  "room.private": "Private",
  "room.create": "Create room",
  "room.join": "Join room",
  "room.leave": "Leave",
  "room.kindDirect": "direct",
  "room.kindPrivate": "private",
  "room.kindPublic": "public",
  "room.unread": "{count} unread",
  "room.mentions": "{count} mentions",
  "room.mentions.one": "1 mention",
  "room.loadOlder": "Load older messages",
  "room.new": "New",
  "room.loading": "Loading messages…",
  "room.emptyHistory": "No messages yet. Say hello!",
  "room.messages": "Messages in {room}",
  "room.linkGone": "That room is private, or no longer there.",

  "child.button": "New room inside",
  "child.title": "Create a room inside this one",
  "child.name": "Name of the room inside this one",
  "child.create": "Create",
  "child.cancel": "Cancel",

  "members.toggle": "Members",
  "members.heading": "Members ({count})",
  "presence.online": "online",
  "presence.away": "away",
  "presence.offline": "offline",

  "dm.search": "Find people by name",
  "dm.nobody": "Nobody by that name.",
  "dm.message": "Message {name}",

  "composer.label": "Message {room}",
  "composer.placeholder": "Message {room}",
  "composer.hint": "Enter sends, Shift+Enter starts a new line.",
  "composer.joinFirst": "Join the room to write here",
  "composer.send": "Send",

  "message.actions": "Message actions",
  "message.deleted": "This message was deleted.",
  "message.linkDeleted": "This room link was deleted.",
  "message.createdInside": "created a room inside this one:",
  "message.privateRoom": "a private room",
  "message.edited": "(edited)",
  "message.editedAt": "edited {time}",
  "message.sending": "sending…",
  "message.notSent": "Not sent: {error}",
  "message.retry": "Retry",
  "message.discard": "Discard",

  "action.reply": "Reply",
  "action.replyTitle": "Reply in a thread",
  "action.react": "React",
  "action.reactTitle": "Add a reaction",
  "action.edit": "Edit",
  "action.editTitle": "Edit your message",
  "action.delete": "Delete",
  "action.deleteConfirm": "Delete?",
  "action.deleteTitle": "Delete your message",
  "action.deleteModTitle": "Delete as the room's moderator",

  "edit.label": "Edit the message",
  "edit.save": "Save",
  "edit.cancel": "Cancel",

  "reaction.picker": "Reactions",
  "reaction.add": "React with {emoji}",
  "reaction.title": "{who} reacted with {emoji}",
  "reaction.someone": "someone",
  "reaction.more": "{count} more",

  "thread.heading": "Thread",
  "thread.root": "The message replied to",
  "thread.replyList": "Replies",
  "thread.replies": "{count} replies",
  "thread.replies.one": "1 reply",
  "thread.last": "last {time}",
  "thread.new": "{count} new",
  "thread.follow": "Follow",
  "thread.unfollow": "Unfollow",
  "thread.followTitle": "Be told of new replies",
  "thread.unfollowTitle": "Stop being told of new replies",
  "thread.close": "Close",
  "thread.closeTitle": "Close the thread",
  "thread.older": "Load older replies",
  "thread.composerLabel": "Reply in the thread",
  "thread.placeholder": "Reply in the thread",
  "thread.send": "Reply",

  "typing.one": "{name} is typing…",
  "typing.two": "{a} and {b} are typing…",
  "typing.many": "Several people are typing…",

  "announce.message": "{name}: {body}",

  "settings.open": "Settings",
  "settings.heading": "Settings",
  "settings.close": "Close",
  "settings.language": "Language",
  "settings.theme": "Theme",
  "settings.themeSystem": "Match the system",
  "settings.themeLight": "Light",
  "settings.themeDark": "Dark",
  "settings.name": "Display name",
  "settings.save": "Save",
  "settings.nameSaved": "Your name is changed.",
  "settings.avatar": "Picture",
  "settings.avatarUpload": "Upload a picture",
  "settings.avatarSaved": "Your picture is changed.",
  "settings.guest": "You are a guest. Sign in to keep your name, set a picture and message people directly.",
  "settings.signOut": "Sign out",
  "settings.signOutAll": "Sign out everywhere",
  "settings.signOutAllTitle": "End every session of this account, on every device",
  // --- reading (A: jump buttons, title and favicon, permalinks, the long list) ---


  // --- writing (B: autocomplete, formatting help, drafts) ---


  // --- emoji (C: the emoji picker, reactions) ---


  // --- actions (D: the actions menu, mark unread) ---
  "actions.more": "More actions",
  "actions.moreTitle": "More actions (. or Shift+F10 on a message)",
  "actions.menu": "Message actions",
  "actions.reply": "Reply in thread",
  "actions.react": "Add reaction",
  "actions.copyLink": "Copy link",
  "actions.edit": "Edit message",
  "actions.delete": "Delete message",
  "actions.deleteConfirm": "Delete? Choose again to delete",
  "actions.deleteArmed": "Choose Delete again to delete the message",
  "actions.markUnread": "Mark unread",
  "actions.markedUnread": "Marked unread from this message",
  "actions.linkCopied": "Link copied",
  "actions.copyManual": "Copy this link:",
  "actions.edited": "(edited) {time}",


  // --- people (E: profile card, room info, settings) ---


  // --- keys (F: shortcuts, quick switcher, the ? sheet) ---
} as const;

export type Key = keyof typeof en;
