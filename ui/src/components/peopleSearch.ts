// The search for people by the start of their name, as the direct-message
// form and "Add people" use it: asked once typing pauses, an answer to an
// older query dropped, an error shown in the form.

import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, searchPeople } from "../client";
import type { Author } from "../types";

export const SEARCH_PAUSE = 200; // ms of no typing before asking

export function usePeopleSearch() {
  const [results, setResults] = useState<Author[] | null>(null);
  const [error, setError] = useState("");
  const seq = useRef(0);
  const timer = useRef(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => () => clearTimeout(timer.current), []);

  const search = async () => {
    clearTimeout(timer.current);
    const q = input.current?.value.trim() ?? "";
    const mine = ++seq.current;
    setError("");
    if (!q) {
      setResults(null);
      return;
    }
    try {
      const users = await searchPeople(q);
      if (mine === seq.current) setResults(users);
    } catch (err) {
      if (mine === seq.current) setError(errorText(err));
    }
  };
  return {
    input,
    results,
    error,
    setError,
    /** clear empties the box and the results */
    clear() {
      if (input.current) input.current.value = "";
      setResults(null);
    },
    /** onSubmit asks at once */
    onSubmit(ev: Event) {
      ev.preventDefault();
      void search();
    },
    /** onInput asks when typing pauses */
    onInput() {
      clearTimeout(timer.current);
      timer.current = window.setTimeout(() => void search(), SEARCH_PAUSE);
    },
  };
}
