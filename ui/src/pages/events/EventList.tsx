export default function EventList() {
  return <h1>EventList</h1>;
}
