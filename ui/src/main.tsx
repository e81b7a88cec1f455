// A placeholder until the web client lands: it shows that the bundle is
// built, embedded and served.
import { render } from "preact";

render(<main><h1>Hanashi</h1><p>The web client is being rebuilt.</p></main>, document.getElementById("app")!);
