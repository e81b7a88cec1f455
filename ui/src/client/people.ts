// People and rooms: profiles, a room's topic, adding people to a room.

import { api } from "../api";
import { people, putRoom } from "../state/rooms";
import type { Profile, Room } from "../types";

/** profile reads anybody's public profile. */
export async function profile(id: string): Promise<Profile> {
  const data = await api<{ user: Profile }>("GET", `users/${encodeURIComponent(id)}`);
  people.set(data.user.id, { ...people.get(data.user.id), ...data.user });
  return data.user;
}

/** setTopic changes a room's topic ("" clears it); every member sees it live. */
export async function setTopic(room: number, topic: string): Promise<Room> {
  const data = await api<{ room: Room }>("PATCH", `rooms/${room}`, { topic });
  putRoom(data.room);
  return data.room;
}

/** addMember makes user a member of room; the member frame updates the list. */
export async function addMember(room: number, user: string): Promise<void> {
  await api("POST", `rooms/${room}/members`, { user_id: user });
}
