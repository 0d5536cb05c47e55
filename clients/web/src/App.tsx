import { ActionIcon, AppShell, Badge, Burger, Button, Center, Group, Loader, NavLink, Text, Title, Tooltip, useComputedColorScheme, useMantineColorScheme } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useEffect, useState } from 'react';
import { logout, onTokens } from './api/auth';
import { api, ApiError } from './api/http';
import { closeLive, live, type LinkState } from './api/live';
import type { Principal } from './api/types';
import { LoginPage } from './pages/LoginPage';
import { ProvidersPage } from './pages/ProvidersPage';
import { ProjectsPage } from './pages/ProjectsPage';
import { SessionPage } from './pages/SessionPage';
import { SessionsPage } from './pages/SessionsPage';
import { TasksPage } from './pages/TasksPage';
import { UsagePage } from './pages/UsagePage';
import { href, useRoute } from './router';

const NAV = [
  { page: 'sessions', label: 'Sessions' },
  { page: 'tasks', label: 'Tasks' },
  { page: 'usage', label: 'Usage' },
  { page: 'agents', label: 'Agents & providers' },
  { page: 'projects', label: 'Projects & chat' },
];

type Who = { state: 'loading' } | { state: 'login'; reason?: string } | { state: 'in'; principal: Principal } | { state: 'down'; reason: string };

/** Asks the gateway who we are: local mode answers at once; team mode needs a token (the login page). */
function useWho(): [Who, () => void] {
  const [who, setWho] = useState<Who>({ state: 'loading' });
  const check = () => {
    api.get<Principal>('/api/v1/auth/me').then(
      (principal) => setWho({ state: 'in', principal }),
      (err: ApiError) => setWho(err.status === 401 ? { state: 'login' } : { state: 'down', reason: err.message }),
    );
  };
  useEffect(() => {
    check();
    // Logged out (or the refresh token refused): back to the login page, with a fresh connection later.
    return onTokens((t) => {
      if (!t) {
        closeLive();
        check();
      }
    });
  }, []);
  return [who, check];
}

export function App() {
  const [who, recheck] = useWho();
  if (who.state === 'loading')
    return (
      <Center h="100vh">
        <Loader aria-label="loading" />
      </Center>
    );
  if (who.state === 'login') return <LoginPage onDone={recheck} />;
  if (who.state === 'down')
    return (
      <Center h="100vh">
        <Text c="red" role="alert">
          The gateway did not answer: {who.reason}. <Button variant="subtle" onClick={recheck}>Try again</Button>
        </Text>
      </Center>
    );
  return <Shell principal={who.principal} />;
}

function LinkBadge() {
  const [state, setState] = useState<LinkState>('connecting');
  const [reason, setReason] = useState('');
  useEffect(() => live().onState((s, r) => (setState(s), setReason(r))), []);
  const color = state === 'connected' ? 'teal' : state === 'refused' ? 'red' : 'yellow';
  const label = state === 'connected' ? 'live' : state === 'reconnecting' ? 'reconnecting…' : state === 'refused' ? 'refused' : 'connecting…';
  return (
    <Tooltip label={reason || 'the Socket.IO link to the gateway'}>
      <Badge color={color} variant="dot" data-testid="link-state" data-state={state} role="status">
        {label}
      </Badge>
    </Tooltip>
  );
}

function ThemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('dark');
  return (
    <ActionIcon variant="default" size="lg" aria-label={`switch to ${scheme === 'dark' ? 'light' : 'dark'} theme`} onClick={() => setColorScheme(scheme === 'dark' ? 'light' : 'dark')}>
      {scheme === 'dark' ? '☀' : '☾'}
    </ActionIcon>
  );
}

function Shell({ principal }: { principal: Principal }) {
  const route = useRoute();
  const [opened, { toggle, close }] = useDisclosure();
  useEffect(close, [route.page, route.parts.join('/')]);
  let page;
  switch (route.page) {
    case 'sessions':
      page = route.parts[0] ? <SessionPage sessionId={route.parts[0]} tab={route.parts[1] ?? 'terminal'} /> : <SessionsPage principal={principal} />;
      break;
    case 'tasks':
      page = <TasksPage />;
      break;
    case 'usage':
      page = <UsagePage />;
      break;
    case 'agents':
      page = <ProvidersPage principal={principal} />;
      break;
    case 'projects':
      page = <ProjectsPage />;
      break;
    default:
      page = <Text>No page {route.page}.</Text>;
  }
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="menu" />
            <Title order={3} fw={700}>
              codeagent
            </Title>
            <LinkBadge />
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" c="dimmed" visibleFrom="xs" data-testid="who">
              {principal.userId} ({principal.role}{principal.via === 'local' ? ', local mode' : ''})
            </Text>
            <ThemeToggle />
            {principal.via !== 'local' && (
              <Button variant="default" size="xs" onClick={logout}>
                Log out
              </Button>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="pages">
        {NAV.map((n) => (
          <NavLink key={n.page} href={href(n.page)} label={n.label} active={route.page === n.page} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{page}</AppShell.Main>
    </AppShell>
  );
}
