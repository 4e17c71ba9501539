export default function EventNew() {
  return <h1>EventNew</h1>;
}
