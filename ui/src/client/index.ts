// The client's controller: signing in and out (session.ts), the socket and
// what its frames do to the state (stream.ts), rooms and the room on screen
// (rooms.ts), threads (threads.ts), sending through the outbox (send.ts),
// typing and presence (presence.ts). Components read the signals of
// state/ and call the functions exported here.
//
// The invariants (docs/protocol.md):
//   - user data only ever reaches the DOM as text (Preact text nodes, and
//     markdown.ts, which builds nodes, never HTML);
//   - per room, the cursor is the highest seq received from the stream, and
//     every (re)subscription asks for `after = cursor`: a reconnect loses
//     nothing and doubles nothing;
//   - every member room is subscribed, so unread and mention counts follow
//     live; GET /rooms and GET /unread are the snapshot taken on every
//     (re)connect, the per-user frames (room, room_gone, profile, member)
//     keep the sidebar current between them;
//   - a send lives in the outbox (IndexedDB) until its ack, and is sent
//     again with the same client_id after any reconnect or reload.

export { EMOJI, errorText, PAGE, scroll } from "./common";
export { guestSignIn, rename, signOut, start, uploadAvatar } from "./session";
export {
  createRoom,
  join,
  leave,
  loadOlder,
  loadUntil,
  markRead,
  navigate,
  openChild,
  openDirect,
  searchPeople,
} from "./rooms";
export { closeThread, isFollowing, loadOlderReplies, toggleFollow } from "./threads";
export { changeMessage, discard, retry, send } from "./send";
export { markUnread } from "./unread";
export { typed } from "./presence";
export { markRoomRead } from "./rooms"; // keys (F)
import "./stream";
