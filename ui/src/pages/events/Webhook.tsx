// The event's webhook: its URL (with its key) is shown once, when made; a new key replaces it.
import { useState } from "react";
import { del, post } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import type { Event, WebhookIssued } from "../../lib/types";
import { ErrorBanner, ShownOnce } from "../../components/common";

export default function Webhook({ event, onChanged }: { event: Event; onChanged: () => void }) {
  const [issued, setIssued] = useState<WebhookIssued | null>(null);
  const { error, run } = useAction();

  async function issue() {
    if (event.has_webhook && !window.confirm("Make a new key? The current URL stops working at once.")) return;
    await run(async () => {
      setIssued(await post<WebhookIssued>(`/events/${event.id}/webhook`));
      onChanged();
    });
  }

  async function remove() {
    if (!window.confirm("Remove the webhook? Its URL stops working at once.")) return;
    await run(async () => {
      await del(`/events/${event.id}/webhook`);
      setIssued(null);
      onChanged();
    });
  }

  return (
    <section className="card" aria-label="Webhook">
      <h2>Webhook</h2>
      <p className="muted">
        Anyone who POSTs to the webhook&apos;s URL runs the event: its key is the secret. A JSON body becomes the
        run&apos;s input as JSON, any other body as text. The server keeps only a hash of the key, so the URL is shown once.
      </p>
      {issued ? <ShownOnce label="Webhook URL" value={issued.url} onDone={() => setIssued(null)} /> : null}
      <ErrorBanner error={error} all />
      <p>{event.has_webhook ? "The event has a webhook." : "The event has no webhook."}</p>
      <div className="row">
        <button type="button" className="primary" onClick={() => void issue()}>
          {event.has_webhook ? "New key" : "Create webhook"}
        </button>
        {event.has_webhook ? (
          <button type="button" className="danger" onClick={() => void remove()}>
            Remove webhook
          </button>
        ) : null}
      </div>
    </section>
  );
}
