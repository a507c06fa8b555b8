// The sign-in form the app shows with AskElementMessage. Chainlit injects `props` (username,
// lockUsername, needCode, error) and `submitElement` / `cancelElement`. The typed password and
// code are sent only with submitElement, as the answer to this question; they are never
// written into the element's props.
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

export default function SignInForm() {
  const [username, setUsername] = useState(props.username || "");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");

  const submit = (event) => {
    event.preventDefault();
    submitElement({ username, password, code });
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-3 max-w-sm p-1">
      <div className="flex flex-col gap-1">
        <Label htmlFor="sg-username">User id</Label>
        <Input
          id="sg-username"
          autoComplete="username"
          placeholder="EMP001"
          value={username}
          readOnly={props.lockUsername}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
      </div>
      <div className="flex flex-col gap-1">
        <Label htmlFor="sg-password">Password</Label>
        <Input
          id="sg-password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </div>
      <div className="flex flex-col gap-1">
        <Label htmlFor="sg-code">
          {props.needCode ? "Authenticator code" : "Authenticator code (optional)"}
        </Label>
        <Input
          id="sg-code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9 ]{6,7}"
          placeholder="123456"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          required={props.needCode}
        />
      </div>
      {props.error ? <p className="text-sm text-destructive">{props.error}</p> : null}
      <div className="flex gap-2">
        <Button type="submit">Sign in</Button>
        <Button type="button" variant="outline" onClick={() => cancelElement()}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
