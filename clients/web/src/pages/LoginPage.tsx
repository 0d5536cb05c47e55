import { Alert, Button, Center, Paper, PasswordInput, SegmentedControl, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { login } from '../api/auth';

/** Team mode: an API key (`admin.ts create-key`) or a user's password, traded for a JWT. */
export function LoginPage({ onDone }: { onDone: () => void }) {
  const [how, setHow] = useState<'apiKey' | 'password'>('apiKey');
  const [apiKey, setApiKey] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(how === 'apiKey' ? { apiKey } : { username, password });
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="md" p="xl" w={420} maw="100%" component="form" onSubmit={submit} aria-label="log in">
        <Stack>
          <Title order={2}>codeagent</Title>
          <Text c="dimmed" size="sm">
            This platform runs in team mode: log in with an API key or your password.
          </Text>
          <SegmentedControl
            value={how}
            onChange={(v) => setHow(v as 'apiKey' | 'password')}
            data={[
              { value: 'apiKey', label: 'API key' },
              { value: 'password', label: 'Password' },
            ]}
          />
          {how === 'apiKey' ? (
            <PasswordInput label="API key" placeholder="paste your API key" value={apiKey} onChange={(e) => setApiKey(e.currentTarget.value)} required autoFocus />
          ) : (
            <>
              <TextInput label="User" value={username} onChange={(e) => setUsername(e.currentTarget.value)} required autoComplete="username" />
              <PasswordInput label="Password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} required autoComplete="current-password" />
            </>
          )}
          {error && (
            <Alert color="red" role="alert" title="Not logged in">
              {error}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            Log in
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
