// The guest side of TensorBoard's plugin messaging, reduced to what the plugin
// uses: learn when TensorBoard reloads its data (auto-reload or the reload
// button) to refresh at once instead of at the next poll.
//
// Protocol (TensorBoard's components/experimental/plugin_util): the iframe
// posts "experimental.bootstrap" to its parent with a MessagePort; messages on
// the port are JSON strings {type, id, payload, error, isReply}, and every
// message that is not a reply gets one.

const BOOTSTRAP = "experimental.bootstrap";
const DATA_RELOADED = "experimental.DataReloaded";

/** Calls onReload() on every DataReloaded broadcast. Returns a stop function. */
export function listenForReload(onReload) {
  if (window.parent === window || typeof MessageChannel !== "function") return () => {};
  const channel = new MessageChannel();
  const port = channel.port1;
  port.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!message || typeof message !== "object" || message.isReply) return;
    if (message.type === DATA_RELOADED) onReload();
    port.postMessage(
      JSON.stringify({ type: message.type, id: message.id, payload: null, error: null, isReply: true }),
    );
  };
  try {
    const origin = window.location.origin && window.location.origin !== "null" ? window.location.origin : "*";
    window.parent.postMessage(BOOTSTRAP, origin, [channel.port2]);
  } catch (error) {
    port.close();
    return () => {};
  }
  return () => port.close();
}
